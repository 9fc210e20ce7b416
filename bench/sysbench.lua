-- MariaDB's own ceiling for the API's statements, without HTTP: the same point select and the
-- same INSERT as bookstore-api's store, as prepared statements on one connection per thread.
-- BENCH_WORKLOAD: point_select or insert. BENCH_BOOKS: ids to pick from.
local workload = os.getenv("BENCH_WORKLOAD")
local books = tonumber(os.getenv("BENCH_BOOKS"))

function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
  if workload == "point_select" then
    stmt = con:prepare("SELECT id, title, author, price FROM books WHERE id = ?")
    id = stmt:bind_create(sysbench.sql.type.INT)
    stmt:bind_param(id)
  elseif workload == "insert" then
    stmt = con:prepare("INSERT INTO books (title, author, price) VALUES (?, ?, ?)")
    title = stmt:bind_create(sysbench.sql.type.VARCHAR, 255)
    author = stmt:bind_create(sysbench.sql.type.VARCHAR, 255)
    price = stmt:bind_create(sysbench.sql.type.VARCHAR, 16)
    stmt:bind_param(title, author, price)
  else
    error("unknown BENCH_WORKLOAD " .. tostring(workload))
  end
end

function event()
  if workload == "point_select" then
    id:set(sysbench.rand.uniform(1, books))
  else
    title:set("Bench " .. sysbench.rand.uniform(1, 1000000000))
    author:set("Author " .. sysbench.rand.uniform(1, 5000))
    price:set(string.format("%d.%02d", sysbench.rand.uniform(1, 99), sysbench.rand.uniform(0, 99)))
  end
  stmt:execute()
end

function thread_done()
  stmt:close()
  con:disconnect()
end
