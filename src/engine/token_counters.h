#pragma once
// Fairness between tenants on tokens: the Virtual Token Counter (Sheng et
// al., "Fairness in Serving Large Language Models", OSDI 2024). Each tenant's
// counter advances by the tokens the engine computes for it (prompt chunks
// once, generated tokens twice as the paper weighs them; cached prompt
// tokens cost nothing; the scheduler charges) divided by its weight; the
// waiting sequence of the tenant with the lowest counter goes first. A tenant
// that becomes active (its first sequence arrives while it has none) is
// lifted to the lowest counter of the active tenants, so idle time banks no
// credit; into an idle engine, to the highest counter, so time alone banks
// no debt. Over a busy period each backlogged tenant then receives tokens in
// proportion to its weight, within a bounded difference.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ig {

// A tenant's counter above the lowest active one (metrics).
struct TenantLag {
    std::string tenant;
    double tokens = 0;  // weighted tokens ahead of the least served active tenant
};

class TokenCounters {
  public:
    // A sequence of `tenant` (a hash; `label` names it in metrics) enters the
    // scheduler. `weight` > 0 is the tenant's current weight.
    void arrive(uint64_t tenant, double weight, std::string_view label);
    // One of its sequences leaves (finished, cancelled, failed).
    void leave(uint64_t tenant);
    void charge(uint64_t tenant, int64_t tokens);
    double counter(uint64_t tenant) const;
    // Tenants with sequences in the scheduler.
    size_t active() const { return active_tenants_; }
    // Active tenants' lags, in tenant order (reuses `out`'s storage).
    void lags(std::vector<TenantLag>& out) const;

  private:
    struct Entry {
        uint64_t tenant = 0;
        double counter = 0;
        double weight = 1;
        int64_t sequences = 0;
        std::string label;
    };
    Entry* find(uint64_t tenant);
    const Entry* find(uint64_t tenant) const;
    double min_active() const;  // 0 when none is active
    // Forgets idle tenants once there are many: a returning tenant is lifted
    // to the active minimum anyway, so only a tenant ahead of it loses its lead.
    void prune();

    std::vector<Entry> entries_;  // sorted by tenant
    size_t active_tenants_ = 0;
    double high_water_ = 0;  // the highest counter (counters only grow)
};

}  // namespace ig
