// `infergrid pull REPO[:FILE] [--revision R] [--models-dir DIR] [--ca-file F]
// [--timeout S]`: a model from a Hugging Face-compatible hub (HF_ENDPOINT,
// HF_TOKEN) into the models folder; the local path(s) on stdout, progress
// on stderr.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "app/commands.h"
#include "hub/pull.h"

namespace ig::app {

namespace {

struct PullArgs {
    std::string spec;
    std::string revision = "main";
    std::string models_dir;
    std::string ca_file;
    double timeout = 30;
};

int run_pull(const PullArgs& a) {
    auto spec = hub::parse_pull_spec(a.spec);
    if (!spec.ok()) return fail(spec.error());
    if (!(a.timeout > 0)) return fail(make_error("--timeout must be > 0, got {}", a.timeout));
    hub::PullOptions opt = hub::pull_options_from_env();
    opt.revision = a.revision;
    if (!a.models_dir.empty()) opt.models_dir = a.models_dir;
    opt.http.ca_file = a.ca_file;
    const auto ms = std::chrono::milliseconds(static_cast<int64_t>(a.timeout * 1000));
    opt.http.connect_timeout = ms;
    opt.http.read_timeout = ms;
    auto r = hub::pull(*spec, opt);
    if (!r.ok()) return fail(r.error());
    std::fprintf(stderr, "%s: %d downloaded, %d already present\n", a.spec.c_str(), r->downloaded,
                 r->already_present);
    std::cout << r->path.string() << std::endl;
    return 0;
}

}  // namespace

Command add_pull(CLI::App& app) {
    auto a = std::make_shared<PullArgs>();
    auto* p = app.add_subcommand(
        "pull", "Download a model from a Hugging Face-compatible hub (HF_ENDPOINT, HF_TOKEN)");
    p->add_option("model", a->spec,
                  "REPO (a safetensors model folder), REPO:Q4_K_M (the GGUF file of that quant) "
                  "or REPO:path/file.gguf")
        ->required();
    p->add_option("--revision", a->revision, "Branch, tag or commit");
    p->add_option("--models-dir", a->models_dir,
                  "Where models go (default $IG_MODELS_DIR or ~/.cache/infergrid/models)");
    p->add_option("--ca-file", a->ca_file,
                  "Extra trusted CA certificates (PEM) for https, beside the system's and "
                  "SSL_CERT_FILE");
    p->add_option("--timeout", a->timeout,
                  "Seconds allowed to connect, and without a byte while reading");
    return {p, [a] { return run_pull(*a); }};
}

}  // namespace ig::app
