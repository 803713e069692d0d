-- Every table inherits hectic.created_at (the bundle refuses tables that don't).
CREATE TABLE public.project (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE
) INHERITS (hectic.created_at, hectic.updated_at);

CREATE TABLE public.task (
    id bigserial PRIMARY KEY,
    project_id bigint NOT NULL REFERENCES public.project(id),
    title text NOT NULL,
    done boolean NOT NULL DEFAULT false,
    priority int NOT NULL DEFAULT 0  -- migration 20260101000000-add-priority
) INHERITS (hectic.created_at, hectic.updated_at);

-- Reference data that only migrations may change.
CREATE TABLE public.task_status (
    code text PRIMARY KEY,
    label text NOT NULL
) INHERITS (hectic.created_at, hectic.immutable);

BEGIN;
SET LOCAL hectic.migration_mode = 'on';
INSERT INTO public.task_status (code, label) VALUES ('open', 'Open'), ('done', 'Done'), ('blocked', 'Blocked');
COMMIT;
