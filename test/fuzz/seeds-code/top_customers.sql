CREATE VIEW public.top_customers AS
    SELECT customer, total FROM public.customer_totals WHERE total > public.big_order();
