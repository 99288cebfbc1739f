#!/usr/bin/env node
// Copies (once per machine) the pinned Iceberg jars Spark needs into a cache and prints their paths, comma-separated,
// for `spark.jars`. Spark's own `--packages` resolver (Ivy) cannot reach the registries from here; Maven can, so the
// jars come through `mvn dependency:copy` (checksums verified by Maven against Maven Central).
//   node ensure-spark-jars.mjs          iceberg-spark-runtime + iceberg-aws-bundle (spark-jars)
//   node ensure-spark-jars.mjs rck      Apache Iceberg's REST Compatibility Kit and its test dependencies (rck-jars)
//   node ensure-spark-jars.mjs spark-s3a  the spark set plus Hadoop's S3A (hadoop-aws, matching PySpark 4.0.1's Hadoop
//                                         3.4.1) for the engines benchmark's direct Parquet reads (spark-s3a-jars)
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { cacheDir, installOnce, run } from './cache-install.mjs';

// Pinned with PYSPARK_VERSION in ensure-venv.mjs (Spark 4.0, Scala 2.13); bump together and deliberately.
export const ICEBERG_VERSION = '1.10.1';
const SETS = {
  spark: {
    dir: 'spark-jars',
    artifacts: [`org.apache.iceberg:iceberg-spark-runtime-4.0_2.13:${ICEBERG_VERSION}`, `org.apache.iceberg:iceberg-aws-bundle:${ICEBERG_VERSION}`],
    transitive: false,
  },
  'spark-s3a': {
    dir: 'spark-s3a-jars',
    // S3A finds the AWS SDK v2 classes it needs in iceberg-aws-bundle (SDK 2.33.0) plus that SDK's transfer manager; the
    // full SDK bundle (~600 MB) is not needed to read.
    artifacts: [`org.apache.iceberg:iceberg-spark-runtime-4.0_2.13:${ICEBERG_VERSION}`, `org.apache.iceberg:iceberg-aws-bundle:${ICEBERG_VERSION}`, 'org.apache.hadoop:hadoop-aws:3.4.1', 'software.amazon.awssdk:s3-transfer-manager:2.33.0'],
    transitive: false,
  },
  rck: {
    dir: 'rck-jars',
    // The kit is a JUnit 5 suite in iceberg-open-api's test jars; it needs iceberg-core's and iceberg-api's test classes,
    // their runtime dependencies, and the console launcher that runs it.
    artifacts: [
      `org.apache.iceberg:iceberg-open-api:${ICEBERG_VERSION}:jar:tests`,
      `org.apache.iceberg:iceberg-open-api:${ICEBERG_VERSION}:jar:test-fixtures`,
      `org.apache.iceberg:iceberg-core:${ICEBERG_VERSION}:jar:tests`,
      `org.apache.iceberg:iceberg-api:${ICEBERG_VERSION}:jar:tests`,
      `org.apache.iceberg:iceberg-core:${ICEBERG_VERSION}`,
      `org.apache.iceberg:iceberg-aws:${ICEBERG_VERSION}`,
      `org.apache.iceberg:iceberg-aws-bundle:${ICEBERG_VERSION}`,
      'org.junit.platform:junit-platform-console-standalone:1.13.4',
      'org.assertj:assertj-core:3.27.6',
      'org.mockito:mockito-core:5.20.0',
      'org.awaitility:awaitility:4.3.0',
      'org.apache.httpcomponents.client5:httpclient5:5.5',
      'org.apache.hadoop:hadoop-common:3.4.2',
    ],
    transitive: true,
  },
};
const which = process.argv[2] ?? 'spark';
if (!Object.hasOwn(SETS, which)) {
  process.stderr.write(`ensure-spark-jars: unknown set ${JSON.stringify(which)}; one of ${Object.keys(SETS).join(', ')}\n`);
  process.exit(2);
}
const set = SETS[which];
const MARKER = set.artifacts.join(' ');
const jarDir = join(cacheDir, set.dir);
const markerFile = join(jarDir, '.atoll-artifacts');

const jars = () => readdirSync(jarDir).filter((f) => f.endsWith('.jar')).sort().map((f) => join(jarDir, f));
const ready = () => existsSync(markerFile) && readFileSync(markerFile, 'utf8') === MARKER;

function ensure() {
  installOnce(jarDir, ready, () => {
    rmSync(jarDir, { recursive: true, force: true });
    mkdirSync(jarDir, { recursive: true });
    const mvn = process.env.ATOLL_MVN || 'mvn';
    const common = ['-B', '-q', `-DoutputDirectory=${jarDir}`];
    if (set.transitive) {
      // copy-dependencies needs a project: write a throwaway pom listing the artifacts.
      const deps = set.artifacts
        .map((a) => {
          const [g, art, v, , classifier] = a.split(':');
          return `<dependency><groupId>${g}</groupId><artifactId>${art}</artifactId><version>${v}</version>${classifier ? `<classifier>${classifier}</classifier>` : ''}</dependency>`;
        })
        .join('');
      const pomDir = join(jarDir, '.pom');
      mkdirSync(pomDir, { recursive: true });
      writeFileSync(
        join(pomDir, 'pom.xml'),
        `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><groupId>atoll</groupId><artifactId>${which}</artifactId><version>0</version><dependencies>${deps}</dependencies></project>`,
      );
      run('ensure-spark-jars', mvn, [...common, '-f', join(pomDir, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime']);
      rmSync(pomDir, { recursive: true, force: true });
    } else {
      for (const artifact of set.artifacts) run('ensure-spark-jars', mvn, [...common, 'dependency:copy', `-Dartifact=${artifact}`]);
    }
    writeFileSync(markerFile, MARKER);
  });
  return jars();
}

try {
  process.stdout.write(`${ensure().join(',')}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
