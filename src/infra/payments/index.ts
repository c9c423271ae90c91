import { randomBytes } from 'node:crypto';
import { mpesaConfigured, type Config } from '../../config.ts';
import type { Clock } from '../../shared/clock.ts';
import { darajaProvider } from './mpesa.ts';
import type { Deliver, PaymentProviders, ProviderLog } from './provider.ts';
import { simulatedCard, simulatedMpesa } from './simulated.ts';
import { stripeProvider } from './stripe.ts';

export * from './provider.ts';
export { normalizeKenyanPhone } from './phone.ts';
export { mpesaCallbackPath, mpesaReversalResultPath, mpesaReversalTimeoutPath, parseReversalResult, parseStkCallback, stkOutcome } from './mpesa.ts';
export { cardEventOutcome, STRIPE_WEBHOOK_PATH, type CardEventOutcome } from './stripe.ts';

export type PaymentConfig = Pick<
  Config,
  | 'NODE_ENV'
  | 'PUBLIC_URL'
  | 'MPESA_CONSUMER_KEY'
  | 'MPESA_CONSUMER_SECRET'
  | 'MPESA_BUSINESS_SHORTCODE'
  | 'MPESA_PASSKEY'
  | 'MPESA_BASE_URL'
  | 'MPESA_CALLBACK_TOKEN'
  | 'MPESA_INITIATOR_NAME'
  | 'MPESA_SECURITY_CREDENTIAL'
  | 'STRIPE_SECRET_KEY'
  | 'STRIPE_WEBHOOK_SECRET'
  | 'STRIPE_API_BASE'
  | 'SIMULATED_PAYMENT_DELAY_MS'
  | 'PAYMENT_PROVIDER_TIMEOUT_MS'
>;

export interface PaymentProviderDeps {
  clock: Clock;
  /** Sends the simulated providers' callbacks to this service's own routes (the app wires `app.inject`). */
  deliver: Deliver;
  log: ProviderLog;
}

/**
 * One provider per method, chosen by configuration: Daraja when its four credentials are set,
 * Stripe when STRIPE_SECRET_KEY is; otherwise the simulated stand-in outside production and
 * nothing in production (the service answers 503 for that method).
 */
export function createPaymentProviders(config: PaymentConfig, deps: PaymentProviderDeps): PaymentProviders {
  const production = config.NODE_ENV === 'production';
  const timeoutMs = config.PAYMENT_PROVIDER_TIMEOUT_MS;

  let mpesa: PaymentProviders['mpesa'];
  if (mpesaConfigured(config)) {
    mpesa = darajaProvider(
      {
        baseUrl: config.MPESA_BASE_URL,
        consumerKey: config.MPESA_CONSUMER_KEY!,
        consumerSecret: config.MPESA_CONSUMER_SECRET!,
        shortcode: config.MPESA_BUSINESS_SHORTCODE!,
        passkey: config.MPESA_PASSKEY!,
        publicUrl: config.PUBLIC_URL,
        // loadConfig refuses production without it and derives one elsewhere.
        callbackToken: config.MPESA_CALLBACK_TOKEN!,
        ...(config.MPESA_INITIATOR_NAME ? { initiatorName: config.MPESA_INITIATOR_NAME } : {}),
        ...(config.MPESA_SECURITY_CREDENTIAL ? { securityCredential: config.MPESA_SECURITY_CREDENTIAL } : {}),
        timeoutMs,
      },
      deps,
    );
  } else if (!production && config.MPESA_CALLBACK_TOKEN) {
    mpesa = simulatedMpesa({ delayMs: config.SIMULATED_PAYMENT_DELAY_MS, callbackToken: config.MPESA_CALLBACK_TOKEN }, deps);
  }

  let card: PaymentProviders['card'];
  if (config.STRIPE_SECRET_KEY && config.STRIPE_WEBHOOK_SECRET) {
    card = stripeProvider(
      { secretKey: config.STRIPE_SECRET_KEY, webhookSecret: config.STRIPE_WEBHOOK_SECRET, apiBase: config.STRIPE_API_BASE, timeoutMs },
      deps,
    );
  } else if (!production) {
    // The simulated events are signed and checked in this process only, so a per-process secret will do.
    const webhookSecret = config.STRIPE_WEBHOOK_SECRET ?? `whsec_sim_${randomBytes(24).toString('base64url')}`;
    card = simulatedCard({ delayMs: config.SIMULATED_PAYMENT_DELAY_MS, webhookSecret }, deps);
  }

  return {
    mpesa,
    card,
    close() {
      mpesa?.close();
      card?.close();
    },
  };
}
