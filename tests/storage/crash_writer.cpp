// The child of the crash test: writes numbered write sets through the
// group-commit writer in sync mode, each set putting one key in three column
// families, and prints each set's number on stdout once its completion says it
// is durable. It runs until it is killed.
//
//   storage-crash-writer DB_PATH FIRST_NUMBER

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "storage/group_commit.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace {

using namespace herald;
using namespace herald::storage;

void write_line(uint64_t n) {
  char buf[32];
  int len = std::snprintf(buf, sizeof buf, "%llu\n",
                          static_cast<unsigned long long>(n));
  // One write per line: a line is in the pipe whole or not at all.
  if (::write(STDOUT_FILENO, buf, static_cast<size_t>(len)) != len)
    std::_Exit(3);
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: storage-crash-writer DB_PATH FIRST_NUMBER\n");
    return 2;
  }
  storage_options o;
  o.path = argv[1];
  o.mode = durability::sync;
  auto db = store::open(o);
  if (!db) {
    std::fprintf(stderr, "open: %s\n", db.error().message.c_str());
    return 1;
  }
  group_commit gc{**db};
  workspace_id ws{1};
  for (uint64_t n = std::strtoull(argv[2], nullptr, 10);; ++n) {
    write_set w;
    auto value = std::to_string(n);
    w.put(cf::enrollments, key::enrollment(ws, enrollment_id{n}), value);
    w.put(cf::usage, key::usage(ws, account_id{n}, date::local_days{}), value);
    w.put(cf::history,
          key::history(ws, lead_id{n}, from_ms(1), enrollment_id{n}, 0,
                       history_event::sent),
          value);
    gc.submit(std::move(w), [n](const status& st) {
      if (!st) {
        std::fprintf(stderr, "write: %s\n", st.error().message.c_str());
        std::_Exit(1);
      }
      write_line(n);
    });
  }
}
