CREATE FUNCTION public.open_tasks(p_project text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM public.task t JOIN public.project p ON p.id = t.project_id
    WHERE p.name = p_project AND NOT t.done;
$$;
