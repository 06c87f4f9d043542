import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

import { ApiProcess } from '../../../test/support/api-process.js';

/** The docs page in a real browser: Swagger UI must render the document and offer bearer authorization. */
describe('Swagger UI at /docs', () => {
  let api: ApiProcess;
  let browser: Browser;

  beforeAll(async () => {
    api = await ApiProcess.start();
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser.close();
    await api.stop();
  });

  it('renders the API title, the operations and the Authorize dialog', async () => {
    const page = await browser.newPage();
    await page.goto(`${api.baseUrl}/docs`);

    await page.locator('.swagger-ui .info .title').filter({ hasText: 'Mail service API' }).waitFor();
    await page.locator('.opblock-summary-path', { hasText: '/api/accounts' }).first().waitFor();
    await page.locator('button.authorize').click();
    await page.locator('.modal-ux').filter({ hasText: 'bearer' }).waitFor();
  });
});
