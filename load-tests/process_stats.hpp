#pragma once

// What the load tests measure of their own process.

#include <sys/resource.h>

#include <fstream>
#include <string>

namespace herald::load {

/// User plus system CPU seconds of the whole process (every thread) so far.
inline double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto tv = [](timeval t) {
    return static_cast<double>(t.tv_sec) +
           static_cast<double>(t.tv_usec) * 1e-6;
  };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

struct resident_memory {
  double now_bytes = 0;
  double peak_bytes = 0;
};

/// Resident memory now and at its peak (VmRSS, VmHWM of /proc/self/status).
inline resident_memory rss() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  resident_memory m;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      m.now_bytes = std::stod(line.substr(6)) * 1024;
    else if (line.rfind("VmHWM:", 0) == 0)
      m.peak_bytes = std::stod(line.substr(6)) * 1024;
  }
  return m;
}

} // namespace herald::load
