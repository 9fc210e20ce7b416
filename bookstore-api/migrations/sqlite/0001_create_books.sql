-- SQLite has no exact DECIMAL type: the price is stored as a whole number of cents.
-- AUTOINCREMENT keeps ids of deleted books from being reused, as MySQL does.
CREATE TABLE IF NOT EXISTS books (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 255),
    author TEXT NOT NULL COLLATE NOCASE CHECK (length(author) BETWEEN 1 AND 255),
    price_cents INTEGER NOT NULL CHECK (price_cents BETWEEN 0 AND 9999999999)
);
