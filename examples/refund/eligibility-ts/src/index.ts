// Transition `check_eligibility` of the refund flow, in TypeScript: a
// deterministic rule on order age and amount, no model.
//
// The same contract as the Rust guest (guests/check-eligibility): consumes a
// `to_check` token `{request, intent, reason}` and fires `approve` (a refund
// order into `refund_orders`) when the order is at most 30 days old and at
// most 500.00, otherwise `deny` (`{request_id, order_id, reason}` into
// `denied`).
import { Decision, Firing, log, transition } from "petrel-guest";

/** Orders older than this are not refunded. */
const MAX_AGE_DAYS = 30;
/** Orders above this amount need a human, not this rule. */
const MAX_AMOUNT_CENTS = 50_000;

interface RefundRequest {
  request_id: string;
  customer: string;
  order_id: string;
  order_age_days: number;
  amount_cents: number;
}

interface Classified {
  request: RefundRequest;
}

export const decide = transition((firing: Firing): Decision => {
  const { request: r } = firing.input<Classified>("to_check");
  let reason: string | undefined;
  if (r.order_age_days > MAX_AGE_DAYS) {
    reason = `the order is ${r.order_age_days} days old (refunds within ${MAX_AGE_DAYS} days)`;
  } else if (r.amount_cents > MAX_AMOUNT_CENTS) {
    reason = `${r.amount_cents} cents is above the ${MAX_AMOUNT_CENTS} cents refund limit`;
  }
  if (reason === undefined) {
    log.info(`${r.request_id}: refund of ${r.amount_cents} cents approved`);
    return Decision.fire("approve").token("refund_orders", {
      request_id: r.request_id,
      order_id: r.order_id,
      customer: r.customer,
      amount_cents: r.amount_cents,
    });
  }
  log.info(`${r.request_id}: refund denied: ${reason}`);
  return Decision.fire("deny").token("denied", {
    request_id: r.request_id,
    order_id: r.order_id,
    reason,
  });
});
