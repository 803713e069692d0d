-- every order with its amount
CREATE VIEW public.order_lines AS
    SELECT id, customer, amount FROM public.orders;
COMMENT ON VIEW public.order_lines IS 'orders, one line each';
