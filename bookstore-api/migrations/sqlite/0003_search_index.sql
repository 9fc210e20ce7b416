-- `q` finds substrings of titles and authors through a trigram index (FTS5), not by reading every
-- row: any three characters or more, case-insensitively, in any script. Kept in step with `books`
-- by triggers; filled from the books already there.
CREATE VIRTUAL TABLE IF NOT EXISTS books_search USING fts5(
    title, author, content = 'books', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO books_search (books_search) VALUES ('rebuild');

CREATE TRIGGER IF NOT EXISTS books_search_insert AFTER INSERT ON books BEGIN
    INSERT INTO books_search (rowid, title, author) VALUES (new.id, new.title, new.author);
END;

CREATE TRIGGER IF NOT EXISTS books_search_delete AFTER DELETE ON books BEGIN
    INSERT INTO books_search (books_search, rowid, title, author)
    VALUES ('delete', old.id, old.title, old.author);
END;

CREATE TRIGGER IF NOT EXISTS books_search_update AFTER UPDATE OF title, author ON books BEGIN
    INSERT INTO books_search (books_search, rowid, title, author)
    VALUES ('delete', old.id, old.title, old.author);
    INSERT INTO books_search (rowid, title, author) VALUES (new.id, new.title, new.author);
END;
