-- Each recipient's IANA time zone as the dry run planned it (NULL: derive it from the phone
-- number), so the sender checks quiet hours in the same zone right before the request.
ALTER TABLE sends ADD COLUMN timezone TEXT;
