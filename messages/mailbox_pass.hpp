#pragma once

namespace topup {

/// The end of an actor's current pass over its mailbox, as a message it sends itself: queued
/// behind every message already there, it arrives once their handlers have run. Actors that
/// gather work (writes, ledger rows) flush there, so that what one pass gathered rides one
/// request or commit. At most one such message is on its way at a time.
///
///   st.flush_pass.request(self);                                   // something was gathered
///   [=](caf::flush_atom) { self->state.flush_pass.arrived(); flush(self); }
template <class Message>
class mailbox_pass_end {
public:
  /// Sends `Message` to `self` behind its mailbox, unless one is on its way already.
  template <class Self>
  void request(Self* self) {
    if (on_its_way_)
      return;
    on_its_way_ = true;
    self->send(self, Message{});
  }

  /// The message arrived: whatever is gathered from now on asks for another.
  void arrived() { on_its_way_ = false; }

private:
  bool on_its_way_ = false;
};

} // namespace topup
