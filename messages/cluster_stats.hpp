#pragma once

// The cluster's `stats` answer put together from the members' node-local counters.

#include "messages/protocol.hpp"

#include <vector>

namespace topup {

/// `asked` (the node the client asked, with the store's order counts) and `answered` (the
/// other members' node-local counters, in any order) as one answer: the nodes in order (the
/// one asked first, then by name), the unreachable ones by name, and the totals.
cluster_stats make_cluster_stats(node_stats asked, std::vector<node_stats> answered,
                                 std::vector<unreachable_node> unreachable);

/// Every counter of `nodes` summed; providers merged by name, in the order first seen, each
/// breaker the distinct states joined by "/"; the store healthy only if every node's is;
/// protocol the first node's; node and orders empty.
node_stats sum_of(const std::vector<node_stats>& nodes);

} // namespace topup
