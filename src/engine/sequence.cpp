#include "engine/sequence.h"

#include <tuple>

namespace ig {

bool Sequence::before(const Sequence& o) const {
    return std::tie(priority, arrival_seq, choice) < std::tie(o.priority, o.arrival_seq, o.choice);
}

}  // namespace ig
