-- The repository a monitor task watches (fairway.WatchOf: labels monitor
-- and repo/OWNER/NAME), '' for any other task, kept by the store on every
-- write of a task, so a CI event finds the tasks watching its repository
-- in an index of the open ones instead of reading every task.
ALTER TABLE tasks ADD COLUMN watch_repo TEXT NOT NULL DEFAULT '';

-- Tasks written before: the last repo/ label of a task labelled monitor,
-- as WatchOf reads it.
UPDATE tasks SET watch_repo = COALESCE((
    SELECT substr(l.value, 6) FROM json_each(tasks.labels) AS l
    WHERE substr(l.value, 1, 5) = 'repo/' ORDER BY l.key DESC LIMIT 1), '')
WHERE labels <> '' AND EXISTS (SELECT 1 FROM json_each(tasks.labels) WHERE value = 'monitor');

CREATE INDEX tasks_watching ON tasks (watch_repo, key)
    WHERE watch_repo <> '' AND status NOT IN ('done', 'cancelled');
