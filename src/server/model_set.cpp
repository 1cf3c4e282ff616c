#include "server/model_set.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace ig::server {

using Clock = std::chrono::steady_clock;

const char* model_state_name(ModelState s) {
    switch (s) {
        case ModelState::Available:
            return "available";
        case ModelState::Loading:
            return "loading";
        case ModelState::Loaded:
            return "loaded";
    }
    return "available";
}

ModelSet::ModelSet(std::vector<ModelSpec> specs, Loader loader, Estimator estimate,
                   ModelSetOptions opt)
    : loader_(std::move(loader)), estimate_(std::move(estimate)), opt_(opt) {
    for (ModelSpec& s : specs) {
        auto e = std::make_unique<Entry>();
        e->metrics = ServerMetrics::create(s.name, opt_.max_tenant_labels);
        names_.emplace(s.name, s.name);
        for (const std::string& a : s.aliases) names_.emplace(a, s.name);
        e->spec = std::move(s);
        entries_.push_back(std::move(e));
    }
    housekeeper_ = std::thread([this] { housekeeping(); });
}

ModelSet::ModelSet(ServedModel loaded) {
    auto e = std::make_unique<Entry>();
    if (!loaded.metrics) loaded.metrics = ServerMetrics::create(loaded.name);
    e->metrics = loaded.metrics;
    e->spec.name = loaded.name;
    e->state = ModelState::Loaded;
    e->bytes = loaded.memory_bytes;
    e->load_seconds = loaded.load_seconds;
    e->last_used = Clock::now();
    e->model = std::make_shared<ServedModel>(std::move(loaded));
    names_.emplace(e->spec.name, e->spec.name);
    entries_.push_back(std::move(e));
}

ModelSet::~ModelSet() {
    shutdown();
    if (housekeeper_.joinable()) housekeeper_.join();
    std::vector<std::thread> loads;
    {
        std::lock_guard lk(mu_);
        loads.swap(loads_);
    }
    for (std::thread& t : loads) t.join();
    shutdown();  // models a load finished meanwhile
}

void ModelSet::shutdown() {
    std::vector<std::shared_ptr<ServedModel>> models;
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
        for (auto& e : entries_)
            if (e->model) models.push_back(e->model);
    }
    cv_.notify_all();
    for (auto& m : models)
        if (m->engine) m->engine->shutdown(/*drain=*/false);
}

ModelSet::Entry* ModelSet::find(const std::string& name) const {
    for (const auto& e : entries_)
        if (e->spec.name == name) return e.get();
    return nullptr;
}

std::string ModelSet::resolve(std::string_view name_or_alias) const {
    auto it = names_.find(name_or_alias);
    return it == names_.end() ? std::string() : it->second;
}

std::vector<std::string> ModelSet::names() const {
    std::vector<std::string> out;
    for (const auto& e : entries_) out.push_back(e->spec.name);
    return out;
}

std::shared_ptr<ServedModel> ModelSet::get(const std::string& name) {
    std::lock_guard lk(mu_);
    Entry* e = find(name);
    if (!e || e->state != ModelState::Loaded) return nullptr;
    e->last_used = Clock::now();
    return e->model;
}

std::shared_ptr<ServedModel> ModelSet::get_if_loaded(const std::string& name) const {
    std::lock_guard lk(mu_);
    Entry* e = find(name);
    return e && e->state == ModelState::Loaded ? e->model : nullptr;
}

Status ModelSet::load(const std::string& name) {
    std::vector<std::shared_ptr<ServedModel>> stopped;
    {
        std::lock_guard lk(mu_);
        Entry* e = find(name);
        if (!e) return make_error(ErrorCode::NotFound, "no model '{}'", name);
        if (stopping_) return make_error("the server is shutting down");
        if (e->state != ModelState::Available || e->wanted) return {};
        if (!loader_) return make_error("model '{}' cannot be loaded again", name);
        e->wanted = true;
        e->want_since = Clock::now();
        e->last_error.clear();
        stopped = pump_locked();
    }
    stop_models(std::move(stopped));
    notify();
    return {};
}

Expected<std::shared_ptr<ServedModel>> ModelSet::load_and_wait(const std::string& name,
                                                               std::chrono::milliseconds timeout) {
    IG_TRY(load(name));
    const auto deadline = Clock::now() + timeout;
    std::unique_lock lk(mu_);
    Entry* e = find(name);
    cv_.wait_until(lk, deadline, [&] {
        return stopping_ || e->state == ModelState::Loaded ||
               (e->state == ModelState::Available && !e->wanted);
    });
    if (e->state == ModelState::Loaded) {
        e->last_used = Clock::now();
        return e->model;
    }
    if (!e->last_error.empty()) return make_error("loading model '{}': {}", name, e->last_error);
    return make_error(ErrorCode::Unavailable, "model '{}' did not load within {} ms", name,
                      timeout.count());
}

std::string ModelSet::load_error(const std::string& name) const {
    std::lock_guard lk(mu_);
    Entry* e = find(name);
    if (!e || e->state != ModelState::Available || e->wanted) return {};
    return e->last_error;
}

Status ModelSet::unload(const std::string& name) {
    std::shared_ptr<ServedModel> m;
    {
        std::lock_guard lk(mu_);
        Entry* e = find(name);
        if (!e) return make_error(ErrorCode::NotFound, "no model '{}'", name);
        if (e->state != ModelState::Loaded)
            return make_error(ErrorCode::Invalid, "model '{}' is not loaded ({})", name,
                              model_state_name(e->state));
        if (busy(*e))
            return make_error(ErrorCode::Unavailable,
                              "model '{}' has requests in flight; unload it when it is idle", name);
        if (!loader_)
            return make_error(ErrorCode::Invalid,
                              "model '{}' could not be loaded again: not unloaded", name);
        m = std::move(e->model);
        e->state = ModelState::Available;
        e->bytes = 0;
    }
    spdlog::info("model {} unloaded", name);
    stop_models({std::move(m)});
    std::vector<std::shared_ptr<ServedModel>> stopped;
    {
        std::lock_guard lk(mu_);
        stopped = pump_locked();  // a load waiting for room may start now
    }
    stop_models(std::move(stopped));
    notify();
    return {};
}

// Unloads idle models, least recently used first, until `want` fits; false
// (nothing unloaded) when it cannot fit now.
bool ModelSet::make_room_locked(const Entry& want,
                                std::vector<std::shared_ptr<ServedModel>>& stopped) {
    int count = 0;
    int64_t bytes = 0;
    std::vector<Entry*> idle;
    for (const auto& e : entries_) {
        if (e->state == ModelState::Available) continue;
        ++count;
        bytes += e->bytes;
        if (e->state == ModelState::Loaded && !busy(*e)) idle.push_back(e.get());
    }
    auto fits = [&](int c, int64_t b) {
        return (opt_.max_loaded <= 0 || c + 1 <= opt_.max_loaded) &&
               (opt_.memory_bytes <= 0 || b + want.bytes <= opt_.memory_bytes);
    };
    std::sort(idle.begin(), idle.end(),
              [](const Entry* a, const Entry* b) { return a->last_used < b->last_used; });
    size_t n = 0;
    while (!fits(count, bytes) && n < idle.size()) {
        --count;
        bytes -= idle[n]->bytes;
        ++n;
    }
    if (!fits(count, bytes)) return false;
    for (size_t i = 0; i < n; ++i) {
        Entry* e = idle[i];
        spdlog::info("model {} unloaded (least recently used) to make room for {}", e->spec.name,
                     want.spec.name);
        stopped.push_back(std::move(e->model));
        e->state = ModelState::Available;
        e->bytes = 0;
    }
    return true;
}

std::vector<std::shared_ptr<ServedModel>> ModelSet::pump_locked() {
    std::vector<std::shared_ptr<ServedModel>> stopped;
    if (stopping_) return stopped;
    // Oldest request first.
    std::vector<Entry*> wanted;
    for (auto& e : entries_)
        if (e->wanted && e->state == ModelState::Available) wanted.push_back(e.get());
    std::sort(wanted.begin(), wanted.end(),
              [](const Entry* a, const Entry* b) { return a->want_since < b->want_since; });
    for (Entry* e : wanted) {
        e->bytes = estimate_ ? estimate_(e->spec) : 0;
        if (opt_.memory_bytes > 0 && e->bytes > opt_.memory_bytes) {
            e->wanted = false;
            e->last_error = fmt::format("needs about {} MiB, more than --models-memory ({} MiB)",
                                        e->bytes >> 20, opt_.memory_bytes >> 20);
            e->bytes = 0;
            continue;
        }
        if (!make_room_locked(*e, stopped)) {
            e->bytes = 0;
            break;  // keeps arrival order: later loads wait behind this one
        }
        e->state = ModelState::Loading;
        e->wanted = false;
        loads_.emplace_back([this, e] { run_load(e); });
    }
    return stopped;
}

void ModelSet::run_load(Entry* e) {
    const ModelSpec spec = e->spec;  // immutable after construction
    spdlog::info("model {}: loading {}", spec.name, spec.path);
    auto loaded = loader_(spec, e->metrics);
    std::vector<std::shared_ptr<ServedModel>> stopped;
    {
        std::lock_guard lk(mu_);
        if (loaded.ok()) {
            e->model = std::make_shared<ServedModel>(std::move(loaded).value());
            e->state = ModelState::Loaded;
            if (e->model->memory_bytes > 0) e->bytes = e->model->memory_bytes;
            e->load_seconds = e->model->load_seconds;
            e->last_used = Clock::now();
            if (stopping_ && e->model->engine) stopped.push_back(e->model);
        } else {
            e->state = ModelState::Available;
            e->bytes = 0;
            e->last_error = loaded.error().message;
            spdlog::error("model {}: load failed: {}", spec.name, e->last_error);
        }
        auto more = pump_locked();
        stopped.insert(stopped.end(), more.begin(), more.end());
    }
    for (auto& m : stopped)
        if (m->engine) m->engine->shutdown(false);
    notify();
    std::lock_guard lk(mu_);
    finished_loads_.push_back(std::this_thread::get_id());
}

std::vector<std::thread> ModelSet::take_finished_locked() {
    std::vector<std::thread> done;
    for (const std::thread::id id : finished_loads_)
        for (auto it = loads_.begin(); it != loads_.end(); ++it)
            if (it->get_id() == id) {
                done.push_back(std::move(*it));
                loads_.erase(it);
                break;
            }
    finished_loads_.clear();
    return done;
}

void ModelSet::stop_models(std::vector<std::shared_ptr<ServedModel>> models) {
    // The last reference goes here, outside the lock: the engine's thread
    // joins and its memory is freed.
    for (auto& m : models)
        if (m && m->engine) m->engine->shutdown(/*drain=*/false);
    models.clear();
}

uint64_t ModelSet::subscribe(std::function<void()> wake) {
    std::lock_guard lk(mu_);
    const uint64_t id = next_sub_++;
    subscribers_.emplace(id, std::move(wake));
    return id;
}

void ModelSet::unsubscribe(uint64_t id) {
    std::lock_guard lk(mu_);
    subscribers_.erase(id);
}

void ModelSet::notify() {
    std::vector<std::function<void()>> wakes;
    {
        std::lock_guard lk(mu_);
        for (auto& [id, w] : subscribers_) wakes.push_back(w);
    }
    cv_.notify_all();
    for (auto& w : wakes) w();
}

void ModelSet::housekeeping() {
    std::unique_lock lk(mu_);
    while (!stopping_) {
        cv_.wait_for(lk, std::chrono::milliseconds(100));
        if (stopping_) break;
        std::vector<std::shared_ptr<ServedModel>> stopped;
        const auto now = Clock::now();
        if (opt_.keep_alive.count() > 0 && loader_) {
            for (auto& e : entries_) {
                if (e->state != ModelState::Loaded || busy(*e)) continue;
                if (now - e->last_used < opt_.keep_alive) continue;
                spdlog::info("model {} unloaded: idle for {} s (--keep-alive)", e->spec.name,
                             opt_.keep_alive.count() / 1000.0);
                stopped.push_back(std::move(e->model));
                e->state = ModelState::Available;
                e->bytes = 0;
            }
        }
        // A load waiting for room starts once a request of an idle-to-be model ends.
        bool waiting = false;
        for (auto& e : entries_) waiting |= e->wanted;
        if (waiting) {
            auto more = pump_locked();
            stopped.insert(stopped.end(), more.begin(), more.end());
        }
        std::vector<std::thread> finished = take_finished_locked();
        // Waiting requests also poll their deadlines on this tick.
        if (stopped.empty() && subscribers_.empty() && finished.empty()) continue;
        lk.unlock();
        for (std::thread& t : finished) t.join();
        stop_models(std::move(stopped));
        notify();
        lk.lock();
    }
}

std::vector<ModelStatus> ModelSet::list() const {
    std::lock_guard lk(mu_);
    std::vector<ModelStatus> out;
    const auto now = Clock::now();
    for (const auto& e : entries_) {
        ModelStatus s;
        s.name = e->spec.name;
        s.aliases = e->spec.aliases;
        s.path = e->spec.path;
        s.state = e->state;
        s.bytes = e->state == ModelState::Available && estimate_ ? estimate_(e->spec) : e->bytes;
        s.in_flight = e->model ? e->model.use_count() - 1 : 0;
        if (e->state == ModelState::Loaded) {
            s.idle_seconds = std::chrono::duration<double>(now - e->last_used).count();
            if (e->model->engine) s.context = e->model->engine->context_length();
        }
        s.load_seconds = e->load_seconds;
        s.last_error = e->last_error;
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<std::pair<std::shared_ptr<ServerMetrics>, std::shared_ptr<ServedModel>>>
ModelSet::metrics_views() const {
    std::lock_guard lk(mu_);
    std::vector<std::pair<std::shared_ptr<ServerMetrics>, std::shared_ptr<ServedModel>>> out;
    for (const auto& e : entries_)
        out.emplace_back(e->metrics, e->state == ModelState::Loaded ? e->model : nullptr);
    return out;
}

std::shared_ptr<ServerMetrics> ModelSet::metrics_of(const std::string& name) const {
    Entry* e = find(name);
    return e ? e->metrics : nullptr;
}

std::vector<std::shared_ptr<ServedModel>> ModelSet::loaded() const {
    std::lock_guard lk(mu_);
    std::vector<std::shared_ptr<ServedModel>> out;
    for (const auto& e : entries_)
        if (e->model) out.push_back(e->model);
    return out;
}

}  // namespace ig::server
