// Chooses the kernels' instruction-set level (see dispatch.h). Baseline code.
#include "dispatch.h"

#include <atomic>
#include <stdexcept>

namespace fastgmm {

namespace {

struct Level {
  const char* name;
  const KernelTable* (*table)();  // null: not built
  bool (*supported)();
};

bool always() { return true; }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FASTGMM_X86_LEVELS 1
// __builtin_cpu_supports also checks that the OS saves the vector registers
// (XGETBV), so a level is never chosen where its instructions would fault.
bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
bool has_avx512() {
  __builtin_cpu_init();
  return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}
#endif
#if FASTGMM_DISPATCH
const KernelTable* avx2_table() { return &avx2::table(); }
const KernelTable* avx512_table() { return &avx512::table(); }
#endif
const KernelTable* generic_table() { return &generic::table(); }

// From the baseline up.
std::vector<Level> levels() {
  std::vector<Level> v;
  v.push_back({generic::table().level, &generic_table, &always});
#if FASTGMM_DISPATCH
  v.push_back({"avx2", &avx2_table, &has_avx2});
  v.push_back({"avx512", &avx512_table, &has_avx512});
#elif defined(FASTGMM_X86_LEVELS)
  // A one-level build on x86-64: the others are known but not built.
  v.push_back({"avx2", nullptr, &has_avx2});
  v.push_back({"avx512", nullptr, &has_avx512});
#endif
  return v;
}

std::atomic<const KernelTable*> active{nullptr};

const KernelTable* best_table() {
  const KernelTable* best = nullptr;
  for (const Level& l : levels())
    if (l.table && l.supported()) best = l.table();
  return best;
}

}  // namespace

std::vector<CpuLevelInfo> cpu_levels() {
  std::vector<CpuLevelInfo> out;
  for (const Level& l : levels()) out.push_back({l.name, l.table != nullptr, l.supported()});
  return out;
}

std::string best_cpu_level() { return best_table()->level; }

void set_cpu_level(const std::string& name) {
  if (name.empty() || name == "auto") {
    active.store(best_table());
    return;
  }
  std::string known;
  for (const Level& l : levels()) {
    if (name == l.name) {
      if (!l.table)
        throw std::invalid_argument("CPU level \"" + name +
                                    "\" is not compiled into this build (one level, \"" +
                                    std::string(generic::table().level) +
                                    "\", is built with FASTGMM_NATIVE=yes or off x86-64)");
      if (!l.supported())
        throw std::invalid_argument("CPU level \"" + name + "\" is not supported by this CPU (best: \"" +
                                    best_cpu_level() + "\")");
      active.store(l.table());
      return;
    }
    known += std::string(known.empty() ? "" : ", ") + "\"" + l.name + "\"";
  }
  throw std::invalid_argument("unknown CPU level \"" + name + "\"; this build has \"auto\", " +
                              known);
}

const KernelTable& cpu_kernels() {
  const KernelTable* t = active.load();
  if (!t) {
    t = best_table();
    active.store(t);
  }
  return *t;
}

}  // namespace fastgmm
