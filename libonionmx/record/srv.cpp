#include "record/srv.hpp"

#include <algorithm>

namespace onionmx::record {

std::vector<SrvRecord> order_srv(std::vector<SrvRecord> records, const UniformRng& rnd) {
  std::vector<SrvRecord> out;
  out.reserve(records.size());
  std::stable_sort(records.begin(), records.end(),
                   [](const SrvRecord& a, const SrvRecord& b) { return a.priority < b.priority; });
  auto group_begin = records.begin();
  while (group_begin != records.end()) {
    auto group_end = std::find_if(group_begin, records.end(), [&](const SrvRecord& r) {
      return r.priority != group_begin->priority;
    });
    std::vector<SrvRecord> group(std::make_move_iterator(group_begin),
                                 std::make_move_iterator(group_end));
    std::stable_partition(group.begin(), group.end(),
                          [](const SrvRecord& r) { return r.weight == 0; });
    while (!group.empty()) {
      std::uint32_t sum = 0;
      for (const auto& r : group) sum += r.weight;  // <= 65535 * 65535: no overflow
      const std::uint32_t x = rnd(sum);
      std::uint32_t running = 0;
      auto pick = group.begin();
      for (auto it = group.begin(); it != group.end(); ++it) {
        running += it->weight;
        if (running >= x) {
          pick = it;
          break;
        }
      }
      out.push_back(std::move(*pick));
      group.erase(pick);
    }
    group_begin = group_end;
  }
  return out;
}

void shuffle(std::vector<SrvRecord>& records, const UniformRng& rnd) {
  for (std::size_t i = records.size(); i > 1; --i) {
    std::size_t j = rnd(static_cast<std::uint32_t>(i - 1));
    std::swap(records[i - 1], records[j]);
  }
}

std::vector<Route> order_routes(std::vector<SrvRecord> valid, const UniformRng& rnd) {
  shuffle(valid, rnd);
  auto ordered = order_srv(std::move(valid), rnd);
  std::vector<Route> routes;
  routes.reserve(ordered.size());
  for (auto& srv : ordered)
    routes.push_back(Route{std::move(srv.target), srv.port, srv.priority, srv.weight});
  return routes;
}

}  // namespace onionmx::record
