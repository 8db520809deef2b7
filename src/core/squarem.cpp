// Accelerated EM: SQUAREM (Varadhan & Roland 2008, scheme S3 with the step
// bounds of their R package), on unconstrained coordinates of the parameters:
// log proportions relative to the first, the means, and each covariance's
// lower Cholesky factor with its diagonal as logs (log variances for the
// diagonal and spherical shapes; one factor for a shared covariance). Means
// and off-diagonal factors are divided by each dimension's scale at the start
// of the cycle, so the step length, and the fit, do not depend on the units
// of the columns.
//
// One cycle from theta0 (whose statistics are at hand): two EM steps give
// theta1 and theta2; the extrapolation theta' = theta0 + 2 a r + a^2 v
// (r = theta1 - theta0, v = theta2 - 2 theta1 + theta0, a = |r| / |v| within
// [1, step_max]) is followed by one EM step from theta' (which also puts the
// result back into the covariance model). The result is kept only if its
// log-likelihood is at least theta2's; otherwise the cycle falls back to
// theta2, the plain EM step, so the accepted log-likelihoods never decrease.
// Every E-step counts as a pass. Convergence uses plain EM's rule on the
// change of the log-likelihood over a whole cycle (at least two EM steps), so
// the accelerated fit stops no farther from the optimum than plain EM would.
#include <cmath>
#include <limits>

#include "em.h"

namespace fastgmm {

namespace {

bool shared_cov(const Params& p) { return p.model->shape == EShape::Tied; }

// Per-dimension scale of a parameter set: the root of the proportion-weighted
// mean variance.
VectorXd scales(const Params& p) {
  VectorXd s = VectorXd::Zero(p.d);
  for (Index j = 0; j < p.k; ++j) s += p.prop[j] * p.cov.sigma[size_t(j)].diagonal();
  for (Index c = 0; c < p.d; ++c) s[c] = s[c] > 0 && std::isfinite(s[c]) ? std::sqrt(s[c]) : 1.0;
  return s;
}

VectorXd to_vec(const Params& p, const VectorXd& sc) {
  const Index k = p.k, d = p.d;
  const EShape shape = p.model->shape;
  const Index ncov = shape == EShape::Diag ? d : shape == EShape::Spherical ? 1 : d * (d + 1) / 2;
  const Index ncomp = shared_cov(p) ? 1 : k;
  VectorXd v(k - 1 + k * d + ncomp * ncov);
  Index o = 0;
  for (Index j = 1; j < k; ++j) v[o++] = std::log(p.prop[j]) - std::log(p.prop[0]);
  for (Index j = 0; j < k; ++j)
    for (Index c = 0; c < d; ++c) v[o++] = p.mean(j, c) / sc[c];
  for (Index j = 0; j < ncomp; ++j) {
    const MatrixXd& S = p.cov.sigma[size_t(j)];
    if (shape == EShape::Diag) {
      for (Index c = 0; c < d; ++c) v[o++] = std::log(S(c, c));
    } else if (shape == EShape::Spherical) {
      v[o++] = std::log(S(0, 0));
    } else {
      Eigen::LLT<MatrixXd> llt(S);
      if (llt.info() != Eigen::Success) throw ModelError("covariance not positive definite");
      const MatrixXd L = llt.matrixL();
      for (Index c = 0; c < d; ++c)
        for (Index i = c; i < d; ++i) v[o++] = i == c ? std::log(L(i, i)) : L(i, c) / sc[i];
    }
  }
  return v;
}

Params from_vec(const VectorXd& v, const Params& like, const VectorXd& sc) {
  const Index k = like.k, d = like.d;
  const EShape shape = like.model->shape;
  const Index ncomp = shared_cov(like) ? 1 : k;
  Params p;
  p.model = like.model;
  p.k = k;
  p.d = d;
  Index o = 0;
  VectorXd a = VectorXd::Zero(k);
  for (Index j = 1; j < k; ++j) a[j] = v[o++];
  a.array() -= a.maxCoeff();
  p.prop = a.array().exp().matrix();
  p.prop /= p.prop.sum();
  p.mean.resize(k, d);
  for (Index j = 0; j < k; ++j)
    for (Index c = 0; c < d; ++c) p.mean(j, c) = v[o++] * sc[c];
  p.cov.sigma.resize(size_t(k));
  for (Index j = 0; j < ncomp; ++j) {
    MatrixXd S = MatrixXd::Zero(d, d);
    if (shape == EShape::Diag) {
      for (Index c = 0; c < d; ++c) S(c, c) = std::exp(v[o++]);
    } else if (shape == EShape::Spherical) {
      S.diagonal().setConstant(std::exp(v[o++]));
    } else {
      MatrixXd L = MatrixXd::Zero(d, d);
      for (Index c = 0; c < d; ++c)
        for (Index i = c; i < d; ++i) L(i, c) = i == c ? std::exp(v[o++]) : v[o++] * sc[i];
      S = L * L.transpose();
    }
    p.cov.sigma[size_t(j)] = S;
  }
  for (Index j = ncomp; j < k; ++j) p.cov.sigma[size_t(j)] = p.cov.sigma[0];
  return p;
}

}  // namespace

EmResult run_squarem(Engine& engine, Params start, const EmOptions& opt, const IterHook& hook) {
  EmResult res;
  Params p0 = std::move(start);
  Stats st0;
  const long base = engine.passes;
  double l0 = timed_pass(engine, p0, st0, res, 0);
  res.start_loglik = l0;
  int passes = 0;  // after the start's; an extrapolated point that fails counts if it was read
  const double step_min = 1, mstep_factor = 4;
  double step_max = 1;
  auto record = [&](double ll) {
    passes = int(engine.passes - base) - 1;
    res.trace.push_back(ll);
    if (hook) hook(passes, ll);
  };
  auto finish = [&](Params& p, double ll, bool conv) {
    res.params = std::move(p);
    res.loglik = ll;
    res.converged = conv;
    res.iterations = passes;
    return res;
  };
  if (opt.max_iter == 0) return finish(p0, l0, false);
  for (;;) {
    // Two plain EM steps.
    Params p1 = timed_mstep(st0, p0, opt, res);
    Stats st1;
    const double l1 = timed_pass(engine, p1, st1, res, passes + 1);
    record(l1);
    if (passes >= opt.max_iter) return finish(p1, l1, false);
    Params p2 = timed_mstep(st1, p1, opt, res);
    Stats st2;
    const double l2 = timed_pass(engine, p2, st2, res, passes + 1);
    record(l2);
    if (passes >= opt.max_iter) return finish(p2, l2, false);
    if (converged_at(l2, l0, opt.tol)) return finish(p2, l2, true);

    // Extrapolate, then one EM step from there; keep it if it is no worse than p2.
    bool accepted = false;
    Params p3;
    Stats st3;
    double l3 = -std::numeric_limits<double>::infinity();
    double alpha = step_min;
    try {
      const VectorXd sc = scales(p0);
      const VectorXd v0 = to_vec(p0, sc), v1 = to_vec(p1, sc), v2 = to_vec(p2, sc);
      const VectorXd r = v1 - v0, q = v2 - 2 * v1 + v0;
      const double sr = r.norm(), sv = q.norm();
      alpha = sv > 0 ? sr / sv : step_min;
      if (!std::isfinite(alpha)) alpha = step_min;
      alpha = std::max(step_min, std::min(step_max, alpha));
      if (alpha > step_min) {
        const Params pe = from_vec(v0 + 2 * alpha * r + alpha * alpha * q, p2, sc);
        Stats ste;
        const double le = timed_pass(engine, pe, ste, res, passes + 1);
        record(le);
        if (passes < opt.max_iter) {
          p3 = timed_mstep(ste, p2, opt, res);
          l3 = timed_pass(engine, p3, st3, res, passes + 1);
          record(l3);
          accepted = l3 >= l2;
        }
      }
    } catch (const ModelError&) {
      accepted = false;  // an extrapolated point outside the model: plain step instead
      passes = int(engine.passes - base) - 1;
    }
    // As the SQUAREM package: the bound grows while steps reach it (a step of
    // length 1 is the plain one, always taken), and shrinks after a rejection.
    const bool extrapolated = alpha > step_min;
    if (alpha >= step_max) {
      if (accepted || !extrapolated)
        step_max *= mstep_factor;
      else
        step_max = std::max(step_min, step_max / mstep_factor);
    }
    const double l_cycle_start = l0;
    if (accepted) {
      p0 = std::move(p3);
      st0 = std::move(st3);
      l0 = l3;
    } else {
      if (alpha > step_min) ++res.rejected;
      p0 = std::move(p2);
      st0 = std::move(st2);
      l0 = l2;
    }
    if (converged_at(l0, l_cycle_start, opt.tol)) return finish(p0, l0, true);
    if (passes >= opt.max_iter) return finish(p0, l0, false);
  }
}

}  // namespace fastgmm
