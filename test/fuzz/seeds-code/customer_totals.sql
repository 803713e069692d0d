CREATE VIEW public.customer_totals AS
    SELECT customer, sum(amount) AS total, count(*) AS orders
    FROM public.order_lines
    GROUP BY customer;
