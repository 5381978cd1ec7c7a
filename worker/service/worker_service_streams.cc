// The auxiliary server streams: GetTokenizer (the tokenizer bundle in chunks) and SubscribeKvEvents
// (radix-cache events from a KvEventSource).
#include "worker/service/generate_call.h"
#include "worker/service/worker_service.h"
#include "worker/service/write_pump.h"

namespace tandem::service {

namespace cpb = ::smg::grpc::common;

namespace {

// Writes a fixed list of chunks, then OK (or finishes with an error status at once).
class TokenizerCall final : public grpc::ServerWriteReactor<cpb::GetTokenizerChunk> {
 public:
  explicit TokenizerCall(const StatusOr<std::shared_ptr<const TokenizerBundle>>& bundle)
      : pump_(std::make_shared<WritePump<cpb::GetTokenizerChunk>>(this)) {
    if (!bundle.ok()) {
      pump_->close(to_grpc_status(bundle.status()));
      return;
    }
    const std::string& zip = (*bundle)->zip;
    for (size_t off = 0; off < zip.size(); off += WorkerService::kTokenizerChunkBytes) {
      cpb::GetTokenizerChunk c;
      c.set_data(zip.substr(off, WorkerService::kTokenizerChunkBytes));
      if (off + WorkerService::kTokenizerChunkBytes >= zip.size()) c.set_sha256((*bundle)->sha256_hex);
      pump_->push(std::move(c));
    }
    pump_->close(grpc::Status::OK);
  }
  void OnWriteDone(bool ok) override { pump_->on_write_done(ok); }
  void OnCancel() override { pump_->on_cancel(); }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<WritePump<cpb::GetTokenizerChunk>> pump_;
};

cpb::KvEventBatch to_proto(const KvEventBatchData& b) {
  cpb::KvEventBatch out;
  out.set_sequence_number(b.sequence_number);
  out.set_timestamp(b.timestamp);
  uint64_t event_id = 0;
  for (const KvCacheEventData& e : b.events) {
    cpb::KvCacheEvent* pe = out.add_events();
    pe->set_event_id(event_id++);
    switch (e.kind) {
      case KvCacheEventData::Kind::kStored: {
        cpb::KvBlocksStored* s = pe->mutable_stored();
        if (e.parent_block_hash) s->set_parent_block_hash(*e.parent_block_hash);
        for (const KvBlockInfo& blk : e.blocks) {
          cpb::KvBlock* pb = s->add_blocks();
          pb->set_block_hash(blk.block_hash);
          for (int32_t t : blk.token_ids) pb->add_token_ids(static_cast<uint32_t>(t));
          pb->set_block_size(blk.block_size);
        }
        break;
      }
      case KvCacheEventData::Kind::kRemoved:
        for (int64_t h : e.removed_hashes) pe->mutable_removed()->add_block_hashes(h);
        break;
      case KvCacheEventData::Kind::kCleared:
        pe->mutable_cleared();
        break;
    }
  }
  return out;
}

// One subscriber. Its bounded queue is the pump's; a full queue ends the stream with
// RESOURCE_EXHAUSTED (the source drops the subscriber) rather than blocking the publisher.
class KvEventsCall final : public grpc::ServerWriteReactor<cpb::KvEventBatch> {
 public:
  KvEventsCall(KvEventSource* source, size_t capacity)
      : source_(source), pump_(std::make_shared<WritePump<cpb::KvEventBatch>>(this, capacity)) {
    // Send the headers now: on an idle worker the first batch may be minutes away, and a client
    // (SMG's health check) must see the stream open without waiting for it.
    StartSendInitialMetadata();
    if (source_ == nullptr) return;  // nothing will ever be published; the stream ends on cancel
    std::weak_ptr<WritePump<cpb::KvEventBatch>> weak = pump_;
    id_ = source_->subscribe(
        [weak](const KvEventBatchData& b) {
          auto pump = weak.lock();
          return pump && pump->push(to_proto(b));
        },
        [weak](uint64_t seq) {
          if (auto pump = weak.lock()) {
            pump->abandon(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                       fmt::format("KV event subscriber fell behind: batch {} was dropped; "
                                                   "resubscribe to resynchronise",
                                                   seq)));
          }
        });
  }
  void OnWriteDone(bool ok) override { pump_->on_write_done(ok); }
  void OnCancel() override {
    if (source_ != nullptr) source_->unsubscribe(id_);
    pump_->on_cancel();
  }
  void OnDone() override {
    if (source_ != nullptr) source_->unsubscribe(id_);
    delete this;
  }

 private:
  KvEventSource* const source_;
  uint64_t id_ = 0;
  std::shared_ptr<WritePump<cpb::KvEventBatch>> pump_;
};

}  // namespace

grpc::ServerWriteReactor<cpb::GetTokenizerChunk>* WorkerService::GetTokenizer(grpc::CallbackServerContext*,
                                                                               const cpb::GetTokenizerRequest*) {
  return new TokenizerCall(tokenizer_bundle());
}

grpc::ServerWriteReactor<cpb::KvEventBatch>* WorkerService::SubscribeKvEvents(
    grpc::CallbackServerContext*, const cpb::SubscribeKvEventsRequest*) {
  // start_sequence_number is not honoured: no history is kept, the stream starts at "now".
  return new KvEventsCall(kv_events_, kv_queue_capacity_);
}

}  // namespace tandem::service
