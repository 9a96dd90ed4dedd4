// One minibatch SGD epoch on CSR data (sgd_epoch_csr): which of the three drivers runs it.
#pragma once

#include "../config.hpp"
#include "../parallel.hpp"
#include "epoch_args.hpp"
#include "hogwild.hpp"
#include "per_sample.hpp"
#include "sync_epoch.hpp"

namespace fastgd {

// One epoch of minibatch SGD on CSR data; updates w (d values) and *b in place and returns the
// progressive loss, as fastgd::sgd_epoch does on dense data.
template <class T, class I, class Loss>
acc_t sgd_epoch_csr(const CsrEpochArgs<T, I>& a, const Loss& loss, T* w, T* b) {
  if (a.asynchronous && detail::usable_threads(a.n_threads) > 1 && sparse_detail::all_lazy(a))
    return sparse_detail::sgd_epoch_async(a, loss, w, b);
  if (a.batch_size == 1 && a.n_rows > 0 && !(a.penalty.l1 > 0) && sparse_detail::all_lazy(a))
    return sparse_detail::sgd_epoch_per_sample(a, loss, w, b);
  return sparse_detail::sgd_epoch_sync(a, loss, w, b);
}

}  // namespace fastgd
