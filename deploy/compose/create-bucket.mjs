// Run by docker-compose.yml's s3-bucket service with the uploads image (whose node_modules hold the S3 client):
// creates S3_BUCKET on the compose S3 store once it answers, leaves an existing bucket alone, and exits 0; exits 1
// when the store does not answer within a minute. Reads the same variables as the uploads service.
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';

const bucket = process.env.S3_BUCKET;
if (!bucket) throw new Error('S3_BUCKET is not set');
const client = new S3Client({
  region: process.env.AWS_REGION ?? 'us-east-1',
  endpoint: process.env.AWS_ENDPOINT_URL_S3,
  forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true',
});

const deadline = Date.now() + 60_000;
for (;;) {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    console.log(`bucket ${bucket} exists`);
    break;
  } catch (error) {
    if (error?.$metadata?.httpStatusCode === 404) {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      console.log(`bucket ${bucket} created`);
      break;
    }
    if (Date.now() > deadline) {
      console.error(`the S3 store at ${process.env.AWS_ENDPOINT_URL_S3} did not answer: ${error}`);
      process.exit(1);
    }
    // The store is still starting.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
