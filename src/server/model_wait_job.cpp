#include "server/model_wait_job.h"

namespace ig::server {

ModelWaitJob::ModelWaitJob(std::shared_ptr<ModelSet> models, std::string name,
                           std::chrono::steady_clock::time_point deadline, Continue cont, Fail fail)
    : models_(std::move(models)),
      name_(std::move(name)),
      deadline_(deadline),
      cont_(std::move(cont)),
      fail_(std::move(fail)) {}

ModelWaitJob::~ModelWaitJob() {
    stop_waiting();
}

void ModelWaitJob::stop_waiting() {
    if (subscription_ != 0) models_->unsubscribe(subscription_);
    subscription_ = 0;
}

void ModelWaitJob::start(std::function<void()> wake) {
    wake_ = std::move(wake);
    // The set wakes its subscribers on every state change and while a
    // load waits for room, often enough to notice the deadline.
    subscription_ = models_->subscribe(wake_);
    const Status st = models_->load(name_);
    if (!st.ok()) {
        stop_waiting();
        done_ = true;
        inner_.reset();
        cont_ = nullptr;
        fail_pending_ = fail_(503, st.error().message, "model_unavailable");
    }
}

JobOutput ModelWaitJob::poll() {
    if (inner_) return inner_->poll();
    JobOutput out;
    if (fail_pending_) {
        out.full = std::move(*fail_pending_);
        fail_pending_.reset();
        return out;
    }
    if (done_) return out;
    if (auto m = models_->get(name_)) {
        stop_waiting();
        Reply r = cont_(std::move(m));
        cont_ = nullptr;
        if (r.response) {
            done_ = true;
            out.full = std::move(*r.response);
            return out;
        }
        inner_ = std::move(r.job);
        inner_->start(wake_);
        return inner_->poll();
    }
    if (std::string err = models_->load_error(name_); !err.empty()) {
        stop_waiting();
        done_ = true;
        out.full = fail_(500, "loading model '" + name_ + "' failed: " + err, "model_load_failed");
        return out;
    }
    // Loaded and unloaded again before this request saw it: ask again.
    (void)models_->load(name_);
    if (std::chrono::steady_clock::now() >= deadline_) {
        stop_waiting();
        done_ = true;
        out.full =
            fail_(503, "model '" + name_ + "' is still loading; retry later", "model_loading");
        return out;
    }
    return out;
}

void ModelWaitJob::cancel() {
    stop_waiting();
    done_ = true;
    if (inner_) inner_->cancel();
}

}  // namespace ig::server
