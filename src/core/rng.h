// A small, portable random number generator (splitmix64), so that fits are
// reproducible across platforms and standard libraries.
#pragma once
#include <cstdint>

namespace fastgmm {

inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

struct Rng {
  uint64_t state;
  explicit Rng(uint64_t seed) : state(seed) {}
  uint64_t next() { state += 0x9e3779b97f4a7c15ULL; return mix64(state); }
  // Uniform on [0, 1).
  double unif() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
  // Uniform integer on [0, n).
  uint64_t below(uint64_t n) { return uint64_t(unif() * double(n)) % n; }
};

// Uniform on (0, 1) from a counter, for values that must not depend on order.
inline double counter_unif(uint64_t seed, uint64_t a, uint64_t b) {
  uint64_t z = mix64(seed ^ mix64(a * 0x100000001b3ULL + b));
  return (double(z >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

}  // namespace fastgmm
