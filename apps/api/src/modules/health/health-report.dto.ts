import { ApiProperty } from '@nestjs/swagger';

export class HealthReportDto {
  @ApiProperty({ enum: ['healthy', 'unhealthy'] })
  status!: 'healthy' | 'unhealthy';

  @ApiProperty({ example: 'email_service' })
  service!: string;

  @ApiProperty({ example: '0.1.0' })
  version!: string;

  @ApiProperty({ example: 'api' })
  app!: string;

  @ApiProperty({ format: 'date-time' })
  timestamp!: string;

  @ApiProperty({
    description: 'One entry per dependency',
    example: { database: { status: 'up' }, redis: { status: 'down', message: 'Connection is closed.' } },
  })
  checks!: Record<string, { status: string; message?: string }>;
}
