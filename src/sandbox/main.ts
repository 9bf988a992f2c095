/** `npm run sandbox`: the QorePay sandbox as a process (signed webhooks to QOREPAY_SANDBOX_WEBHOOK_URL, if given). */
import { loadConfigOrExit } from '../config';
import { createLogger } from '../logger';
import { startQorePaySandbox } from './qorepay';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'qorepay-sandbox' });
  const webhookUrl = `http://${config.API_HOST}:${config.API_PORT}/webhooks/qorepay`;
  const sandbox = await startQorePaySandbox({
    port: config.QOREPAY_SANDBOX_PORT,
    host: config.QOREPAY_SANDBOX_HOST,
    apiKey: config.QOREPAY_API_KEY,
    webhookUrls: [webhookUrl],
    logger,
  });
  logger.info({ baseUrl: sandbox.baseUrl, webhookUrl }, 'QorePay sandbox listening (control API under /__sandbox/)');
  const stop = (): void => void sandbox.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
