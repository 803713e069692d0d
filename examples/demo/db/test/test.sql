-- database test: fails (exit 1) on the first error.
DO $$
BEGIN
    IF public.open_tasks('dbtool') <> 1 THEN
        RAISE EXCEPTION 'expected one open task in project dbtool, got %', public.open_tasks('dbtool');
    END IF;
    IF (SELECT count(*) FROM public.task_status) < 2 THEN
        RAISE EXCEPTION 'reference data missing';
    END IF;
END $$;
\echo 'demo tests passed'
