-- The author filter reads only the matching rows. The index takes the column's NOCASE collation,
-- as the filter's comparison does. Readers go on while it is built (WAL); writers wait for it.
CREATE INDEX IF NOT EXISTS books_author ON books (author);
