export { authenticateRequest } from './authenticate.ts';
export { answerErrors } from './error-handler.ts';
export type { ErrorAnswersOptions } from './error-handler.ts';
