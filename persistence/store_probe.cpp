#include "persistence/store_probe.hpp"

#include "domain/error_text.hpp"
#include "domain/store_shards.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>

namespace topup {
namespace {

namespace fs = std::filesystem;

/// Opens an existing file read-write, without creating it, and reads its schema version:
/// a file that is not an SQLite database fails here.
void open_existing(const std::string& path, const std::string& json_path) {
  sqlite3* raw = nullptr;
  auto rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db{raw, &sqlite3_close};
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db.get(), "PRAGMA schema_version", nullptr, nullptr, nullptr);
  // Busy or locked: an SQLite database another process is writing (the nodes of a cluster
  // share the simulated providers' ledgers), which the node will open as well.
  if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
    throw config_error(json_path, "cannot open '" + path + "' as an SQLite database for writing: "
                                    + one_line_reason(db ? sqlite3_errmsg(db.get())
                                                         : sqlite3_errstr(rc)));
}

} // namespace

void probe_sqlite_file(const std::string& path, const std::string& json_path) {
  if (path == ":memory:")
    return;
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (fs::exists(status)) {
    if (fs::is_directory(status))
      throw config_error(json_path, "'" + path + "' is a directory");
    open_existing(path, json_path);
    if (::access(fs::absolute(path).parent_path().c_str(), W_OK | X_OK) != 0)
      throw config_error(json_path, "the directory of '" + path
                                      + "' is not writable (SQLite writes its WAL beside it)");
    return;
  }
  // The nearest ancestor that exists must be a directory the node may create things in.
  auto ancestor = fs::absolute(path, ec).parent_path();
  while (!ancestor.empty() && !fs::exists(ancestor, ec) && ancestor != ancestor.root_path())
    ancestor = ancestor.parent_path();
  if (!fs::is_directory(ancestor, ec))
    throw config_error(json_path, "cannot create '" + path + "': '" + ancestor.string()
                                    + "' is not a directory");
  if (::access(ancestor.c_str(), W_OK | X_OK) != 0)
    throw config_error(json_path, "cannot create '" + path + "': '" + ancestor.string()
                                    + "' is not writable");
}

void probe_store(const store_config& cfg) {
  if (cfg.backend == store_config::backend_kind::sqlite) {
    // The shard files beside it (store.shards, when configured; a new store's default count
    // is settled at start, in the same directory).
    for (size_t shard = 0; shard < std::max<size_t>(cfg.shards, 1); ++shard)
      probe_sqlite_file(shard_file(cfg.sqlite_path, shard), "/store/sqlite/path");
    return;
  }
  char* error = nullptr;
  auto options = PQconninfoParse(cfg.postgresql_connection.c_str(), &error);
  if (!options) {
    std::string reason = error ? one_line_reason(error) : "out of memory";
    PQfreemem(error);
    throw config_error("/store/postgresql/connection", "not a valid connection string: " + reason);
  }
  PQconninfoFree(options);
}

} // namespace topup
