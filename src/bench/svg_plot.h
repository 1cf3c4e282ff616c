#pragma once
// Line charts written as SVG by hand (no plotting dependency): panels stacked
// vertically that share one x axis, e.g. latency percentiles against
// throughput for a `bench serve --sweep`.
#include <string>
#include <utility>
#include <vector>

namespace ig {

struct SvgSeries {
    std::string name;
    std::vector<std::pair<double, double>> points;  // (x, y), drawn in the given order
};

struct SvgPanel {
    std::string y_label;
    std::vector<SvgSeries> series;
};

std::string render_svg_chart(const std::string& title, const std::string& x_label,
                             const std::vector<SvgPanel>& panels);

}  // namespace ig
