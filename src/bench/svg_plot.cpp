#include "bench/svg_plot.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace ig {
namespace {

constexpr double kWidth = 720, kPanelHeight = 260, kLeft = 80, kRight = 170, kTop = 40,
                 kBottom = 50;
constexpr const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c",
                                   "#d62728", "#9467bd", "#8c564b"};

std::string escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '<')
            o += "&lt;";
        else if (c == '>')
            o += "&gt;";
        else if (c == '&')
            o += "&amp;";
        else if (c == '"')
            o += "&quot;";
        else
            o += c;
    }
    return o;
}

// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten.
double nice_max(double v) {
    if (!(v > 0) || !std::isfinite(v)) return 1;
    const double p = std::pow(10, std::floor(std::log10(v)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * p >= v) return m * p;
    return 10 * p;
}

}  // namespace

std::string render_svg_chart(const std::string& title, const std::string& x_label,
                             const std::vector<SvgPanel>& panels) {
    double xmax = 0;
    for (const auto& p : panels)
        for (const auto& s : p.series)
            for (const auto& [x, y] : s.points)
                if (std::isfinite(x)) xmax = std::max(xmax, x);
    xmax = nice_max(xmax);
    const double plot_w = kWidth - kLeft - kRight;
    const double height = kTop + panels.size() * (kPanelHeight + kBottom);
    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
        "fill=\"white\"/>\n<text x=\"{}\" y=\"24\" font-size=\"15\" "
        "text-anchor=\"middle\">{}</text>\n",
        kWidth, height, kWidth / 2, escape(title));
    for (size_t pi = 0; pi < panels.size(); ++pi) {
        const SvgPanel& panel = panels[pi];
        const double top = kTop + pi * (kPanelHeight + kBottom), bottom = top + kPanelHeight;
        double ymax = 0;
        for (const auto& s : panel.series)
            for (const auto& [x, y] : s.points)
                if (std::isfinite(y)) ymax = std::max(ymax, y);
        ymax = nice_max(ymax);
        auto px = [&](double x) { return kLeft + plot_w * x / xmax; };
        auto py = [&](double y) { return bottom - kPanelHeight * y / ymax; };
        svg += fmt::format(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n",
            kLeft, top, plot_w, kPanelHeight);
        for (int t = 0; t <= 5; ++t) {
            const double yv = ymax * t / 5, xv = xmax * t / 5;
            svg += fmt::format(
                "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>"
                "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:g}</text>\n",
                kLeft, kLeft + plot_w, py(yv), kLeft - 6, py(yv) + 4, yv);
            svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:g}</text>\n",
                               px(xv), bottom + 16, xv);
        }
        svg += fmt::format(
            "<text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
            18, top + kPanelHeight / 2, escape(panel.y_label));
        svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                           kLeft + plot_w / 2, bottom + 34, escape(x_label));
        for (size_t si = 0; si < panel.series.size(); ++si) {
            const SvgSeries& s = panel.series[si];
            const char* color = kColors[si % std::size(kColors)];
            std::string pts;
            for (const auto& [x, y] : s.points)
                if (std::isfinite(x) && std::isfinite(y))
                    pts += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
            svg += fmt::format(
                "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n", color,
                pts);
            for (const auto& [x, y] : s.points)
                if (std::isfinite(x) && std::isfinite(y))
                    svg +=
                        fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n",
                                    px(x), py(y), color);
            const double ly = top + 16 + 18 * si;
            svg += fmt::format(
                "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"{3}\" "
                "stroke-width=\"2\"/><text x=\"{4}\" y=\"{5}\">{6}</text>\n",
                kLeft + plot_w + 10, kLeft + plot_w + 30, ly, color, kLeft + plot_w + 36, ly + 4,
                escape(s.name));
        }
    }
    return svg + "</svg>\n";
}

}  // namespace ig
