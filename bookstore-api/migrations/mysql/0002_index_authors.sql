-- The author filter reads only the matching rows, in id order (InnoDB appends the primary key to a
-- secondary index). Built online: reads and writes of the table go on meanwhile, and the statement
-- fails rather than lock the table where the server cannot build it so.
CREATE INDEX books_author ON books (author) ALGORITHM = INPLACE LOCK = NONE;
