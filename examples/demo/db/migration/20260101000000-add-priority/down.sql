DELETE FROM public.task_status WHERE code = 'blocked';
ALTER TABLE public.task DROP COLUMN priority;
