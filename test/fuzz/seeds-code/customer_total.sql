CREATE FUNCTION public.customer_total(p_customer text) RETURNS numeric
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT total FROM public.customer_totals WHERE customer = p_customer;
END;
