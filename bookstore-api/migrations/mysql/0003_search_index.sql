-- `q` finds substrings of titles and authors through a trigram index, not by reading every row:
-- each book's three-character windows of its title and author, looked up by trigram. MySQL's ngram
-- FULLTEXT parser would do this too, but MariaDB has none, and this table works on both. Compared
-- in the collation of the books table that migration 1 creates, so a search matches what LIKE
-- matches (case and accents ignored).
-- Kept in step with `books` by triggers, so every writer is covered; filled from the books already
-- there.
CREATE TABLE IF NOT EXISTS book_trigrams (
    book_id INT NOT NULL,
    trigram VARCHAR(3) NOT NULL,
    -- Rows of one book together: a book's trigrams are replaced as a range.
    PRIMARY KEY (book_id, trigram),
    -- (trigram, book_id): InnoDB appends the primary key, so each trigram's books come in id order.
    KEY book_trigrams_trigram (trigram)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- 1..253: the windows of a VARCHAR(255), read as a range instead of a loop in the triggers.
CREATE TABLE IF NOT EXISTS trigram_positions (n SMALLINT PRIMARY KEY) ENGINE = InnoDB;
INSERT IGNORE INTO trigram_positions (n)
SELECT 1 + a.n + 16 * b.n
FROM (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
      UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9
      UNION ALL SELECT 10 UNION ALL SELECT 11 UNION ALL SELECT 12 UNION ALL SELECT 13
      UNION ALL SELECT 14 UNION ALL SELECT 15) a
CROSS JOIN
     (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
      UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9
      UNION ALL SELECT 10 UNION ALL SELECT 11 UNION ALL SELECT 12 UNION ALL SELECT 13
      UNION ALL SELECT 14 UNION ALL SELECT 15) b
WHERE 1 + a.n + 16 * b.n <= 253;

-- Rows are inserted in primary-key order (ORDER BY): out of order, half the pages split and stay
-- half empty (the table came out 2.6 times larger).
-- Triggers first, then the backfill: a book written meanwhile is indexed by its trigger, and the
-- backfill's INSERT IGNORE skips what is there. A trigram the backfill adds for a book changed or
-- deleted meanwhile only makes a candidate that the LIKE beside every search then drops.
DROP TRIGGER IF EXISTS books_search_insert;
CREATE TRIGGER books_search_insert AFTER INSERT ON books FOR EACH ROW
    INSERT IGNORE INTO book_trigrams (book_id, trigram)
    SELECT NEW.id, SUBSTRING(NEW.title, n, 3) FROM trigram_positions
    WHERE n <= CHAR_LENGTH(NEW.title) - 2
    UNION ALL
    SELECT NEW.id, SUBSTRING(NEW.author, n, 3) FROM trigram_positions
    WHERE n <= CHAR_LENGTH(NEW.author) - 2
    ORDER BY 2;

DROP TRIGGER IF EXISTS books_search_update;
CREATE TRIGGER books_search_update AFTER UPDATE ON books FOR EACH ROW
BEGIN
    IF NOT (NEW.title <=> OLD.title AND NEW.author <=> OLD.author AND NEW.id <=> OLD.id) THEN
        DELETE FROM book_trigrams WHERE book_id = OLD.id;
        INSERT IGNORE INTO book_trigrams (book_id, trigram)
        SELECT NEW.id, SUBSTRING(NEW.title, n, 3) FROM trigram_positions
        WHERE n <= CHAR_LENGTH(NEW.title) - 2
        UNION ALL
        SELECT NEW.id, SUBSTRING(NEW.author, n, 3) FROM trigram_positions
        WHERE n <= CHAR_LENGTH(NEW.author) - 2
        ORDER BY 2;
    END IF;
END;

DROP TRIGGER IF EXISTS books_search_delete;
CREATE TRIGGER books_search_delete AFTER DELETE ON books FOR EACH ROW
    DELETE FROM book_trigrams WHERE book_id = OLD.id;

-- The backfill in batches of 5,000 books, each its own short transaction that reads the books
-- without locking them (READ COMMITTED): writers go on while a large catalogue is indexed.
DROP PROCEDURE IF EXISTS books_search_backfill;
CREATE PROCEDURE books_search_backfill()
BEGIN
    DECLARE batch_start INT DEFAULT 0;
    DECLARE batch_end INT;
    batches: LOOP
        SELECT MAX(id) INTO batch_end
        FROM (SELECT id FROM books WHERE id > batch_start ORDER BY id LIMIT 5000) batch;
        IF batch_end IS NULL THEN
            LEAVE batches;
        END IF;
        SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
        INSERT IGNORE INTO book_trigrams (book_id, trigram)
        SELECT b.id, SUBSTRING(b.title, p.n, 3) FROM books b
        JOIN trigram_positions p ON p.n <= CHAR_LENGTH(b.title) - 2
        WHERE b.id > batch_start AND b.id <= batch_end
        UNION ALL
        SELECT b.id, SUBSTRING(b.author, p.n, 3) FROM books b
        JOIN trigram_positions p ON p.n <= CHAR_LENGTH(b.author) - 2
        WHERE b.id > batch_start AND b.id <= batch_end
        ORDER BY 1, 2;
        SET batch_start = batch_end;
    END LOOP;
END;
CALL books_search_backfill();
DROP PROCEDURE books_search_backfill;
