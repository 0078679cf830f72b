// Placeholder: the real handler lands with the engine.
export const handler = async (): Promise<unknown> => ({ statusCode: 501, body: 'not yet' });
