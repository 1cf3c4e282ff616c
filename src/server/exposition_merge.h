#pragma once
// Merges Prometheus text expositions (one per served model) into one: each
// family's HELP/TYPE once, then the samples of every part, in the order
// families first appear. A series present in several parts (a process
// figure without a `model` label) is kept once: the text format forbids
// duplicates.
#include <string>
#include <vector>

namespace ig::server {

std::string merge_expositions(const std::vector<std::string>& parts);

}  // namespace ig::server
