#include "domain/cluster_cancel.hpp"

namespace topup {

failure refused_cancel(const std::string& order_id, order_status status,
                       const std::vector<silent_member>& silent) {
  if (status != order_status::accepted)
    return {errc::illegal_transition,
            "order " + order_id + " is " + std::string{to_string(status)}
              + "; only an order waiting for a provider can be cancelled"};
  if (silent.empty())
    return {errc::unavailable, "order " + order_id
                                 + " waits for a provider, but no live node holds it now (its "
                                   "provider is changing hands); try again"};
  std::string who;
  for (const auto& member : silent)
    who += (who.empty() ? "" : ", ") + member.node + " (" + member.reason + ")";
  return {errc::unavailable, "order " + order_id + " waits for a provider and may wait at "
                               + who + ", which did not answer; try again"};
}

} // namespace topup
