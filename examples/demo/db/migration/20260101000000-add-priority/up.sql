-- migrator: add a priority to tasks, and a reference row (allowed: migration mode is on).
ALTER TABLE public.task ADD COLUMN priority int NOT NULL DEFAULT 0;
INSERT INTO public.task_status (code, label) VALUES ('blocked', 'Blocked');
