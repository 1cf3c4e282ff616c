#pragma once
// The models of one server and their residency: which are loaded, which
// load now, which wait for room. A request names a model; a model that is
// available but not loaded is loaded on a loader thread while its requests
// wait (ModelWaitJob). Budgets (--max-loaded-models, --models-memory) are
// kept by unloading the least-recently-used idle model first; a model with
// requests in flight is never unloaded, so a load that finds no idle model
// to make room for waits until one is. --keep-alive unloads models idle
// that long. Thread-safe.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/model_catalog.h"
#include "server/served_model.h"
#include "server/server_metrics.h"

namespace ig::server {

enum class ModelState { Available, Loading, Loaded };
const char* model_state_name(ModelState s);

struct ModelSetOptions {
    int max_loaded = 0;                       // 0: no limit
    int64_t memory_bytes = 0;                 // weights + KV of loaded models; 0: no limit
    std::chrono::milliseconds keep_alive{0};  // 0: loaded models stay
    size_t max_tenant_labels = ServerMetrics::kDefaultMaxTenants;
};

struct ModelStatus {
    std::string name;
    std::vector<std::string> aliases;
    std::string path;
    ModelState state = ModelState::Available;
    int64_t bytes = 0;  // loaded: weights + KV pool; else the estimate a load reserves
    int64_t in_flight = 0;
    double idle_seconds = 0;  // since the last request (loaded models)
    double load_seconds = 0;  // the last load
    std::string last_error;   // of the last failed load
    int64_t context = 0;      // loaded: the context window
};

class ModelSet {
  public:
    // Builds a loaded model: `metrics` is the model's (kept across loads).
    using Loader = std::function<Expected<ServedModel>(const ModelSpec&,
                                                       std::shared_ptr<ServerMetrics> metrics)>;
    // Bytes a model will take once loaded (weights + KV), for the budget.
    using Estimator = std::function<int64_t(const ModelSpec&)>;

    ModelSet(std::vector<ModelSpec> specs, Loader loader, Estimator estimate, ModelSetOptions opt);
    // One model already loaded (tests, and `serve` of a single model).
    explicit ModelSet(ServedModel loaded);
    ~ModelSet();  // waits for loads in progress; stops every engine
    ModelSet(const ModelSet&) = delete;
    ModelSet& operator=(const ModelSet&) = delete;

    // The model's name for a name or alias; empty when unknown.
    std::string resolve(std::string_view name_or_alias) const;
    const std::string& default_name() const { return entries_.front()->spec.name; }
    std::vector<std::string> names() const;
    // The loaded model, or null when it is not loaded now. A holder of the
    // returned pointer counts as in flight: the model stays loaded.
    std::shared_ptr<ServedModel> get(const std::string& name);
    // As get(), but not a use: the LRU order stays (listings).
    std::shared_ptr<ServedModel> get_if_loaded(const std::string& name) const;
    // Starts loading (nothing when loaded or loading); the load may wait
    // for room. Error: unknown model.
    Status load(const std::string& name);
    // Loads and waits until loaded or failed or the timeout passes.
    Expected<std::shared_ptr<ServedModel>> load_and_wait(const std::string& name,
                                                         std::chrono::milliseconds timeout);
    // The last load error of a model that is not loaded or loading (the
    // waiting requests' answer), empty otherwise.
    std::string load_error(const std::string& name) const;
    // Unloads an idle loaded model. Errors: Unavailable while it has
    // requests in flight, Invalid when it is not loaded.
    Status unload(const std::string& name);
    // Called (from any thread) whenever a model's state changes; returns an
    // id for unsubscribe.
    uint64_t subscribe(std::function<void()> wake);
    void unsubscribe(uint64_t id);

    std::vector<ModelStatus> list() const;
    // Metrics of every model (loaded or not: counters outlive unloads).
    std::vector<std::pair<std::shared_ptr<ServerMetrics>, std::shared_ptr<ServedModel>>>
    metrics_views() const;
    std::shared_ptr<ServerMetrics> metrics_of(const std::string& name) const;
    // Every loaded model (drain, shutdown).
    std::vector<std::shared_ptr<ServedModel>> loaded() const;
    // Stops every engine (no new loads start).
    void shutdown();

  private:
    struct Entry {
        ModelSpec spec;
        ModelState state = ModelState::Available;
        std::shared_ptr<ServedModel> model;  // while Loaded
        std::shared_ptr<ServerMetrics> metrics;
        int64_t bytes = 0;    // reserved (Loading) or held (Loaded)
        bool wanted = false;  // a load waits for room
        std::chrono::steady_clock::time_point last_used{}, want_since{};
        double load_seconds = 0;
        std::string last_error;
    };
    Entry* find(const std::string& name) const;  // by name only
    bool busy(const Entry& e) const { return e.model && e.model.use_count() > 1; }
    // Starts the loads that fit, unloading idle models for them (LRU).
    // Returns the engines to stop, outside the lock.
    std::vector<std::shared_ptr<ServedModel>> pump_locked();
    bool make_room_locked(const Entry& want, std::vector<std::shared_ptr<ServedModel>>& stopped);
    void run_load(Entry* e);
    void notify();
    void housekeeping();
    // Takes the load threads that have finished out of loads_ (to join
    // outside the lock: a finished thread keeps its stack until joined).
    std::vector<std::thread> take_finished_locked();
    static void stop_models(std::vector<std::shared_ptr<ServedModel>> models);

    Loader loader_;
    Estimator estimate_;
    ModelSetOptions opt_;
    std::vector<std::unique_ptr<Entry>> entries_;
    std::map<std::string, std::string, std::less<>> names_;  // name or alias -> name

    mutable std::mutex mu_;
    std::condition_variable cv_;  // state changes, for load_and_wait and the housekeeper
    bool stopping_ = false;
    std::vector<std::thread> loads_;  // joined once finished (housekeeping) or at destruction
    std::vector<std::thread::id> finished_loads_;
    std::map<uint64_t, std::function<void()>> subscribers_;
    uint64_t next_sub_ = 1;
    std::thread housekeeper_;  // keep-alive, and loads waiting for a request to end
};

}  // namespace ig::server
