#include "apps/bench/svg_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace topup::bench {

namespace {

constexpr double width = 900, panel_height = 260, margin_left = 70, margin_right = 20;
constexpr double plot_width = width - margin_left - margin_right;

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

/// A round axis maximum at or above `value`: 1, 2 or 5 times a power of ten.
double nice_ceiling(double value) {
  if (value <= 0)
    return 1;
  auto power = std::pow(10.0, std::floor(std::log10(value)));
  for (double step : {1.0, 2.0, 5.0, 10.0})
    if (step * power >= value)
      return step * power;
  return 10 * power;
}

std::string axes(double top, double height, const std::string& x_label,
                 const std::string& y_label, double x_max, double y_max) {
  auto bottom = top + height;
  std::string out = fmt::format(
    "<rect x='{}' y='{}' width='{}' height='{}' fill='none' stroke='#888'/>\n", margin_left, top,
    plot_width, height);
  for (int i = 0; i <= 4; ++i) {
    auto y = bottom - height * i / 4;
    out += fmt::format("<text x='{}' y='{:.1f}' text-anchor='end' font-size='11'>{:g}</text>\n",
                       margin_left - 5, y + 4, y_max * i / 4);
    auto x = margin_left + plot_width * i / 4;
    out += fmt::format("<text x='{:.1f}' y='{}' text-anchor='middle' font-size='11'>{:g}</text>\n",
                       x, bottom + 15, x_max * i / 4);
  }
  out += fmt::format("<text x='{}' y='{}' text-anchor='middle' font-size='12'>{}</text>\n",
                     margin_left + plot_width / 2, bottom + 32, escape(x_label));
  out += fmt::format(
    "<text x='15' y='{}' text-anchor='middle' font-size='12' transform='rotate(-90 15 {})'>{}"
    "</text>\n",
    top + height / 2, top + height / 2, escape(y_label));
  return out;
}

} // namespace

std::string render_svg(const chart_input& input) {
  const double top1 = 40, top2 = top1 + panel_height + 70;
  auto height = top2 + panel_height + 50;
  std::string out = fmt::format(
    "<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' font-family='sans-serif'>\n"
    "<rect width='100%' height='100%' fill='white'/>\n"
    "<text x='{}' y='22' font-size='15'>{}</text>\n",
    width, height, margin_left, escape(input.title));

  // Panel 1: completions per second, one bar per second.
  const auto& bins = input.completions_per_second;
  auto seconds = nice_ceiling(static_cast<double>(std::max<size_t>(bins.size(), 1)));
  auto peak = nice_ceiling(static_cast<double>(
    bins.empty() ? 1 : *std::max_element(bins.begin(), bins.end())));
  out += axes(top1, panel_height, "seconds since the load started",
              "orders completed per second", seconds, peak);
  auto bar = plot_width / seconds;
  for (size_t i = 0; i < bins.size(); ++i) {
    auto h = panel_height * static_cast<double>(bins[i]) / peak;
    out += fmt::format("<rect x='{:.2f}' y='{:.2f}' width='{:.2f}' height='{:.2f}' "
                       "fill='#4a7ebb'/>\n",
                       margin_left + bar * static_cast<double>(i), top1 + panel_height - h,
                       std::max(bar - 0.5, 0.5), h);
  }
  for (auto marker : input.markers_s) {
    auto x = margin_left + plot_width * marker / seconds;
    out += fmt::format("<line x1='{0:.1f}' x2='{0:.1f}' y1='{1}' y2='{2}' stroke='#c33' "
                       "stroke-dasharray='4 3'/>\n",
                       x, top1, top1 + panel_height);
  }

  // Panel 2: share of orders complete by each time (CDF from the histogram's quantiles), on
  // a log time axis: completion times span milliseconds to minutes in one run.
  if (input.completion && input.completion->count() > 0) {
    const auto& h = *input.completion;
    auto ms_at = [&h](double fraction) {
      return std::max(std::chrono::duration<double, std::milli>(h.quantile(fraction)).count(),
                      0.1);
    };
    auto low = std::floor(std::log10(ms_at(1e-9)));
    auto high = std::max(std::ceil(std::log10(ms_at(1.0))), low + 1);
    auto x_of = [&](double ms) {
      return margin_left + plot_width * (std::log10(ms) - low) / (high - low);
    };
    auto bottom = top2 + panel_height;
    out += fmt::format(
      "<rect x='{}' y='{}' width='{}' height='{}' fill='none' stroke='#888'/>\n", margin_left,
      top2, plot_width, panel_height);
    for (auto decade = low; decade <= high; decade += 1)
      out += fmt::format(
        "<text x='{:.1f}' y='{}' text-anchor='middle' font-size='11'>{:g}</text>\n",
        x_of(std::pow(10.0, decade)), bottom + 15, std::pow(10.0, decade));
    for (int i = 0; i <= 4; ++i)
      out += fmt::format("<text x='{}' y='{:.1f}' text-anchor='end' font-size='11'>{:g}</text>\n",
                         margin_left - 5, bottom - panel_height * i / 4 + 4, i / 4.0);
    out += fmt::format("<text x='{}' y='{}' text-anchor='middle' font-size='12'>completion time, "
                       "accept to terminal (ms, log scale)</text>\n",
                       margin_left + plot_width / 2, bottom + 32);
    out += fmt::format("<text x='15' y='{0}' text-anchor='middle' font-size='12' "
                       "transform='rotate(-90 15 {0})'>share of orders complete</text>\n",
                       top2 + panel_height / 2);
    std::string points;
    for (int i = 0; i <= 200; ++i) {
      auto fraction = i / 200.0;
      points += fmt::format("{:.1f},{:.1f} ", x_of(ms_at(std::max(fraction, 1e-9))),
                            bottom - panel_height * fraction);
    }
    out += fmt::format("<polyline points='{}' fill='none' stroke='#2a7' stroke-width='2'/>\n",
                       points);
    for (auto [fraction, label] : {std::pair{0.5, "p50"}, {0.99, "p99"}})
      out += fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='11' fill='#2a7'>{} {:.0f} ms"
                         "</text>\n",
                         x_of(ms_at(fraction)) + 4, bottom - panel_height * fraction + 12, label,
                         ms_at(fraction));
  }
  out += "</svg>\n";
  return out;
}

} // namespace topup::bench
