-- The head grades each checked case's closing comment for clarity, beside the verdict: 1 (unclear)
-- to 5 (clear), or null when not graded (the column is optional in the verdict file). The import
-- refuses anything but a whole number 1-5 (transforms/qa/verdicts.py); a re-import that changes
-- only the grade supersedes the row as a changed verdict does, keeping its checked_at.
alter table raw.qa_verdicts add column clarity_score tinyint;

comment on column raw.qa_verdicts.clarity_score is 'Clarity of the case''s closing comment as the head graded it, 1 (unclear) to 5 (clear); null: not graded.';
