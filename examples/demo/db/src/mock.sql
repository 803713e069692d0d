INSERT INTO public.project (name) VALUES ('mock project');
INSERT INTO public.task (project_id, title)
SELECT p.id, 'mock task ' || g FROM public.project p, generate_series(1, 3) g WHERE p.name = 'mock project';
