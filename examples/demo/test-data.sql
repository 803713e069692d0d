-- Local test data (database patch). `database pull_staging` can regenerate it.
INSERT INTO public.project (name) VALUES ('dbtool');
INSERT INTO public.task (project_id, title)
SELECT id, 'ship the demo' FROM public.project WHERE name = 'dbtool';
