#pragma once
// What a tenant pays, in USD per million tokens. Prompt tokens served from
// the prefix cache cost `cached` instead of `prompt`.
namespace ig::tenants {

struct TokenPrices {
    double prompt = 0;
    double cached = 0;
    double completion = 0;
};

}  // namespace ig::tenants
