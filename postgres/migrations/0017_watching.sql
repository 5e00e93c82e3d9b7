-- The repository a monitor task watches (fairway.WatchOf: labels monitor
-- and repo/OWNER/NAME), '' for any other task, kept by the store on every
-- write of a task, so a CI event finds the tasks watching its repository
-- in an index of the open ones instead of reading every task.
ALTER TABLE tasks ADD COLUMN watch_repo TEXT COLLATE "C" NOT NULL DEFAULT '';

-- Tasks written before: the last repo/ label of a task labelled monitor,
-- as WatchOf reads it.
UPDATE tasks SET watch_repo = COALESCE((
    SELECT substr(l.value, 6) FROM jsonb_array_elements_text(tasks.labels::jsonb) WITH ORDINALITY AS l(value, n)
    WHERE left(l.value, 5) = 'repo/' ORDER BY l.n DESC LIMIT 1), '')
WHERE labels <> '' AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(tasks.labels::jsonb) AS m(value) WHERE m.value = 'monitor');

CREATE INDEX tasks_watching ON tasks (watch_repo, key)
    WHERE watch_repo <> '' AND status NOT IN ('done', 'cancelled');
