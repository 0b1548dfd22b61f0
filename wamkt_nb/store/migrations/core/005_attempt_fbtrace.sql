-- Meta's fbtrace_id of an error answer (what Meta support asks for), kept with the attempt.
ALTER TABLE attempts ADD COLUMN fbtrace_id TEXT;
